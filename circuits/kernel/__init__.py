"""Key-value memories as similarity kernel x separation operator (Gershman, Fiete & Irie 2025,
section 2.1): ``rate`` (numpy), ``spiking`` (softmax and threshold separations in Brian2),
``learned`` (keys and values trained by gradient descent, section 5.1)."""
