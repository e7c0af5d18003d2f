"""Private numba kernels. Only numpy, math and numba are imported here.

A kernel takes and returns contiguous float64 arrays, ints and bools; it validates
nothing, raises nothing and allocates nothing inside a per-sample step. Public wrappers
in ``fusion/``, ``kinematics/`` and ``reps/`` check inputs and call them.
"""
