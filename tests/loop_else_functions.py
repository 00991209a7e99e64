"""Loops with an `else:` clause holding a return, break or continue (tests/test_loop_else.py):
each function's own statements, every one of which POINTS reach."""

import numpy as np


def return_in_else(x):
    t = 0.0
    for i in range(3):
        t += x[i]
        if t > 0.1:
            break
    else:
        return t * 2.0
    return t * t


def continue_in_inner_else(x):
    t = 0.0
    for i in range(3):
        for j in range(3):
            t += x[j] * t + x[j]
            if t > 0.5:
                break
        else:
            t = t * 1.5
            continue
        t = t - 0.1 * x[i]
    return t


def break_in_inner_else(x):
    t = 0.0
    for i in range(3):
        for j in range(3):
            t += x[j] * x[i]
            if t > 0.2:
                break
        else:
            break
        t = t * 0.5
    return t


def while_else_returns(x):
    k = 0
    s = 1.0
    while k < len(x):
        s = s * (1.0 + x[k])
        if s > 1.5:
            break
        k += 1
    else:
        return s * s
    return s - x[0]


def return_in_body_and_else(x):
    s = 0.0
    for v in x:
        s += v * v
        if s > 2.0:
            return s * 3.0
    else:
        s = s + 1.0
    return s * x[0]


def nested_else_clauses(x):
    s = 0.0
    for i in range(2):
        for j in range(3):
            s += x[j] * (i + 1.0)
            if s > 1.0:
                break
        else:
            s = s * 1.25
            for k in range(2):
                s += x[k] * x[k]
                if s > 0.8:
                    break
            else:
                continue
            break
    return s


def returns_in_the_body_and_the_else(x):
    for i in range(x.shape[0]):
        if x[i] > 0.95:
            return x[i] * 3.0
    else:
        return np.sum(x * x)


def while_returns_in_the_body_and_the_else(x):
    k = 0
    while k < x.shape[0]:
        if x[k] > 0.95:
            return x[k] * x[0]
        k += 1
    else:
        return np.sum(x)


CASES = [
    returns_in_the_body_and_the_else,
    while_returns_in_the_body_and_the_else,
    return_in_else,
    continue_in_inner_else,
    break_in_inner_else,
    while_else_returns,
    return_in_body_and_else,
    nested_else_clauses,
]
POINTS = [
    np.array([0.01, 0.02, 0.03]),
    np.array([0.3, 0.25, -0.2]),
    np.array([0.2, 0.2, 0.25]),
    np.array([0.9, 0.8, 0.7]),
    np.array([1.2, 1.0, 0.1]),
]
