"""Greedy job scheduler: two evolvable pieces, the priority and the tie-break."""

from dataclasses import dataclass


@dataclass
class Job:
    name: str
    duration: float
    deadline: float
    weight: float


# EVOLVE-BLOCK-START
def priority(job: Job) -> float:
    score = job.weight / job.duration - 0.01 * job.deadline
    return score
# EVOLVE-BLOCK-END


def schedule(jobs: list[Job]) -> list[Job]:
    ordered = sorted(jobs, key=priority, reverse=True)
    return tie_break(ordered)


# EVOLVE-BLOCK-START
def tie_break(jobs: list[Job]) -> list[Job]:
    return sorted(jobs, key=lambda j: (-priority(j), j.duration))
# EVOLVE-BLOCK-END
