"""SSMN-PPO and SSMN-ES with their defaults beside sb3-contrib RecurrentPPO on the agents' suite.

The 14 tasks (the 10 ``ssmn/`` memory tasks, CartPole-v1, Acrobot-v1, Pendulum-v1,
MountainCarContinuous-v0), >= 3 seeds, equal env steps per task, final mean return over
deterministic evaluation episodes and wall time; prints a table and writes
``bench_results/suite_<time>.json`` and ``.png``. The logic lives in :mod:`ssmn_rl.agents.suite`,
so ``ssmn-rl bench-suite`` runs the same thing from an installed package.

    python scripts/bench_suite.py                                   # the full suite (hours)
    python scripts/bench_suite.py --tasks CartPole-v1 ssmn/CueReward-v0 --seeds 0 --steps-scale 0.1
    python scripts/bench_suite.py --algos ssmn-ppo recurrent-ppo --jobs 4
"""
import sys

from ssmn_rl.agents.suite import main

if __name__ == "__main__":
    sys.exit(main())
