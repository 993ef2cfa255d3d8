"""A solver with its evolvable step inside a method."""


class Solver:
    def __init__(self, lr: float = 0.1) -> None:
        self.lr = lr

    def step(self, x: float, grad: float) -> float:
        # EVOLVE-BLOCK-START
        update = self.lr * grad
        if abs(update) > 0.5:
            update = 0.5 * update / abs(update)
        return x - update
        # EVOLVE-BLOCK-END

    def run(self, x: float, grads: list[float]) -> float:
        for g in grads:
            x = self.step(x, g)
        return x
