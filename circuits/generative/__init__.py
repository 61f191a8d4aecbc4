"""The neocortical generative network of Spens & Burgess (supplement A.2.1): ``vae``."""
