"""Pieces every application shares: the gradient check and its verdict, validators, the numba
fallback, BLAS threads, the snapshot format, diagnosis messages and presets."""
