"""Small dense linear algebra for the Kalman filter's compiled kernels (5×5 and 2×2 matrices).

For matrices this small a BLAS call costs more than the arithmetic, so products are explicit loops;
numba also compiles these loops in a fraction of the time it needs for ``@`` on every combination
of memory layouts. The 2×2 solve is a Cholesky factorization written out, which doubles as the
test that the innovation covariance is positive definite.
"""

from __future__ import annotations

import math

import numpy as np

try:  # numba compiles the filter's arithmetic; without it the same functions run as plain Python.
    from numba import njit

    def compile_kernel(function):
        return njit(cache=True, nogil=True)(function)

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is in requirements.txt
    HAVE_NUMBA = False

    def compile_kernel(function):
        return function


@compile_kernel
def solve_right_2x2(B, S):
    """(B S⁻¹, True) for a symmetric positive-definite 2×2 S and a (k, 2) B, i.e. X with X S = B,
    by S = L Lᵀ and two triangular solves per row, written out; (zeros, False) when S is not
    positive definite (or is singular to working precision)."""
    a, b, d = S[0, 0], 0.5 * (S[0, 1] + S[1, 0]), S[1, 1]
    X = np.zeros_like(B)
    # L = [[l₁₁, 0], [l₂₁, l₂₂]]:  l₁₁ = √a,  l₂₁ = b / l₁₁,  l₂₂² = d − l₂₁²
    l22_sq = d - b * b / a if a > 0 else -1.0
    if not (math.isfinite(l22_sq) and l22_sq > 1e-12 * max(a, d)):
        return X, False
    l11 = math.sqrt(a)
    l21, l22 = b / l11, math.sqrt(l22_sq)
    for i in range(B.shape[0]):  # S xᵢ = bᵢ for each row (S is symmetric)
        # forward L w = b:  w₁ = b₁ / l₁₁,  w₂ = (b₂ − l₂₁ w₁) / l₂₂
        w1 = B[i, 0] / l11
        w2 = (B[i, 1] - l21 * w1) / l22
        # back Lᵀ x = w:  x₂ = w₂ / l₂₂,  x₁ = (w₁ − l₂₁ x₂) / l₁₁
        X[i, 1] = w2 / l22
        X[i, 0] = (w1 - l21 * X[i, 1]) / l11
    return X, True


@compile_kernel
def mat_mul(A, B):
    """A B."""
    out = np.zeros((A.shape[0], B.shape[1]))
    for i in range(A.shape[0]):
        for k in range(A.shape[1]):
            for j in range(B.shape[1]):
                out[i, j] += A[i, k] * B[k, j]
    return out


@compile_kernel
def mat_mul_t(A, B):
    """A Bᵀ."""
    out = np.zeros((A.shape[0], B.shape[0]))
    for i in range(A.shape[0]):
        for j in range(B.shape[0]):
            for k in range(A.shape[1]):
                out[i, j] += A[i, k] * B[j, k]
    return out


@compile_kernel
def mat_vec(A, v):
    """A v."""
    out = np.zeros(A.shape[0])
    for i in range(A.shape[0]):
        for k in range(A.shape[1]):
            out[i] += A[i, k] * v[k]
    return out


@compile_kernel
def sandwich(A, M):
    """A M Aᵀ, made exactly symmetric (it is symmetric in exact arithmetic when M is)."""
    out = mat_mul_t(mat_mul(A, M), A)
    for i in range(out.shape[0]):
        for j in range(i):
            out[i, j] = out[j, i] = 0.5 * (out[i, j] + out[j, i])
    return out


@compile_kernel
def store_vector(rows, k, v):
    # rows[k] = v, as a loop: numba compiles slice assignment very slowly
    for i in range(v.shape[0]):
        rows[k, i] = v[i]


@compile_kernel
def store_matrix(stack, k, M):
    # stack[k] = M
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            stack[k, i, j] = M[i, j]
