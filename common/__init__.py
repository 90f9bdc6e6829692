"""Small helpers every package here may use, below all of them: the one-line exit-2 error of every
command (`common.cli`) and child processes that exit with their parent (`common.processes`)."""
