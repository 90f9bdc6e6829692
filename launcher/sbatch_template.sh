#!/bin/bash
#SBATCH --time=$TIMEOUT
#SBATCH --signal=B:USR1@300
#SBATCH --requeue
#SBATCH --open-mode=append
# Sample Factory's Slurm backend substitutes the dollar placeholders (command, time limit); edit the
# set-up lines for your cluster.
#
# Time limits: Slurm sends SIGUSR1 to this shell 300 s before the limit (--signal=B:USR1@300). The
# trap passes it to training, which saves a checkpoint and exits, then requeues the job; the
# requeued job runs the same command, which resumes from that checkpoint.
# Preemption or scancel (SIGTERM to every process of the job): training saves a checkpoint and
# exits; requeueing a preempted job is left to Slurm's PreemptMode, so a scancel stays cancelled.
cd "$${SF_MAZE_ROOT:-$$HOME/sf-maze}" || exit 1
source "$${SF_MAZE_VENV:-.venv}/bin/activate"
export MUJOCO_GL="$${MUJOCO_GL:-egl}"

stop_training() {
    kill -"$$1" "$$child" 2>/dev/null
    wait "$$child"
}
on_time_limit() {
    echo "sbatch: SIGUSR1 before the time limit: checkpointing, then requeueing job $$SLURM_JOB_ID"
    stop_training USR1
    scontrol requeue "$$SLURM_JOB_ID"
    exit 0
}
trap on_time_limit USR1
trap 'stop_training TERM; exit 143' TERM

$CMD &
child=$$!
wait "$$child"
