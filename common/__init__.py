"""Small helpers every package here may use, below all of them: the one-line exit-2 error of every
command (`common.cli`), child processes that exit with their parent (`common.processes`) and files
never seen half-written (`common.files`)."""
