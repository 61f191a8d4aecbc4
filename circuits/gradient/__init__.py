"""Networks trained by gradient descent read as key-value memories (Gershman, Fiete & Irie 2025,
sections 2.3 and 5.2): ``dual`` (a linear layer is a key-value memory, eq. 10-11) and
``two_task_mlp`` (forgetting as retrieval failure)."""
