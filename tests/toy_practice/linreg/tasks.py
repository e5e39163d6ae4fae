"""The graded tasks of practice `linreg` (linear regression by gradient descent): id -> title."""

TASKS = {
    "linreg.1": "predict: y_hat = x w + b",
    "linreg.2": "fit: gradient descent on the mean squared error, from zero",
}
ORDER = 7  # its place in the course (grader.registry)
WARM_UP = False  # its workers need no optimizer: gradient descent here is written with plain tensors
