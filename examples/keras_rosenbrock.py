"""Source slide 6: SGD, Adam and RMSprop on the Rosenbrock function, written with a Keras
variable and ``apply_gradients`` (the seed's tf.Variable/tf.constant loop, which rebuilt the
variable every step, made portable), with adamkit.keras optimizers."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import adamkit.keras as akk  # noqa: E402


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_grad(x, y):
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def optimize(optimizer, initial_position, steps):
    position = keras.Variable(np.array(initial_position, dtype="float32"))
    path = [list(initial_position)]
    for _ in range(steps):
        x, y = keras.ops.convert_to_numpy(position)
        grads = rosenbrock_grad(x, y).astype("float32")
        optimizer.apply_gradients(zip([keras.ops.convert_to_tensor(grads)], [position], strict=True))
        path.append([float(v) for v in keras.ops.convert_to_numpy(position)])
    return np.array(path)


def main(steps: int = 1000) -> dict:
    optimizers = {"SGD": akk.SGD(learning_rate=0.001), "Adam": akk.Adam(learning_rate=0.001),
                  "RMSprop": akk.RMSprop(learning_rate=0.001)}
    out = {}
    for name, opt in optimizers.items():
        path = optimize(opt, [-1.5, 2.5], steps)
        out[name] = {"loss_first": float(rosenbrock(*path[0])),
                     "loss_last": float(rosenbrock(*path[-1]))}
    return out


if __name__ == "__main__":
    print(main())
