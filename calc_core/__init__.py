"""Pure-numpy cores of the Calculus-in-ML Lab.

Every module here is plain Python on numpy and scipy (numba where a hot loop earns it): no
Streamlit, no plotting, no pandas. The pages in ``pages/`` call these functions and draw what they
return; the tests in ``tests/`` check them against finite differences and independent libraries.
"""
