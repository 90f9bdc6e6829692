#!/bin/bash
#SBATCH --time=$TIMEOUT
# Sample Factory's Slurm backend substitutes the dollar placeholders (command, time limit); edit the set-up
# lines for your cluster. The run resumes from its checkpoint if Slurm requeues it.
cd "$${SF_MAZE_ROOT:-$$HOME/sf-maze}"
source .venv/bin/activate
export MUJOCO_GL="$${MUJOCO_GL:-egl}"
$CMD
