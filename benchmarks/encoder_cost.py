"""Cost per frame of the image encoders on this CPU: a rollout forward and a learner step.

    python benchmarks/encoder_cost.py [--threads 1] [--rollout_batch 4] [--learner_batch 400]

Rows: DreamerV2's CNN (`--maze_encoder=cnn`) and the IMPALA ResNet (`--maze_encoder=resnet`), each
alone and as the whole default agent (encoder + last action and reward + LSTM-256 + heads) the way
Sample Factory runs it: the inference worker's no-grad forward of one step of B envs, and the
learner's forward + backward over a batch of frames (here `--learner_batch` frames as 1 sequence of
that length per 100-step rollout, BPTT included). Times are medians of `--repeats`; the load average
is printed, since other jobs on the cores inflate every row alike.
"""
import argparse
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up: allocations, kernel choice
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _agent(encoder_name: str):
    """The default agent's layout with either encoder: image embedding + last reward and action -> LSTM-256."""
    from networks import ConvEncoder, LSTMCore, PolicyValueHeads, RecurrentAgent, ResNetEncoder
    from networks.core_input import last_action_reward_size

    encoder = ResNetEncoder() if encoder_name == "resnet" else ConvEncoder()
    core = LSTMCore(encoder.out_size + last_action_reward_size(6), 256)
    return RecurrentAgent(encoder, core, PolicyValueHeads(core.out_size, 6), last_action_reward=True)


def measure(encoder_name: str, rollout_batch: int, learner_batch: int, repeats: int):
    import torch

    agent = _agent(encoder_name)
    parameters = sum(p.numel() for p in agent.encoder.parameters())

    def obs(T, B):
        return {"image": torch.randint(0, 256, (T, B, 64, 64, 3), dtype=torch.uint8),
                "last_action": torch.zeros(T, B, 6), "last_reward": torch.zeros(T, B)}

    step_obs = {key: value[0] for key, value in obs(1, rollout_batch).items()}
    frames = torch.rand(learner_batch, 3, 64, 64)
    learn_obs = obs(100, max(1, learner_batch // 100))

    with torch.no_grad():
        encoder_forward = _median_ms(lambda: agent.encoder(frames[:rollout_batch]), repeats) / rollout_batch
        agent_forward = _median_ms(lambda: agent.step(step_obs), repeats) / rollout_batch

    def encoder_step():
        agent.zero_grad()
        agent.encoder(frames).sum().backward()

    def agent_step():
        agent.zero_grad()
        logits, values, _, _ = agent(learn_obs, exact=False)
        (logits.logsumexp(-1).mean() + values.pow(2).mean()).backward()

    encoder_learn = _median_ms(encoder_step, repeats) / learner_batch
    agent_learn = _median_ms(agent_step, repeats) / learn_obs["image"].shape[:2].numel()
    return dict(encoder=encoder_name, parameters=parameters, encoder_forward=encoder_forward,
                agent_forward=agent_forward, encoder_learn=encoder_learn, agent_learn=agent_learn)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (Sample Factory's workers use 1 each on CPU)")
    parser.add_argument("--rollout_batch", type=int, default=4, help="envs per inference call (4 per worker split)")
    parser.add_argument("--learner_batch", type=int, default=400, help="frames per timed learner step")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    rows = [measure(name, args.rollout_batch, args.learner_batch, args.repeats) for name in ("cnn", "resnet")]
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch threads {args.threads}, rollout batch {args.rollout_batch}, learner batch {args.learner_batch}; "
          f"load average {load}\n")
    print("| encoder | encoder params | rollout forward ms/frame: encoder / agent | learner fwd+bwd ms/frame: encoder / agent |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['encoder']} | {row['parameters']:,} | {row['encoder_forward']:.2f} / {row['agent_forward']:.2f} "
              f"| {row['encoder_learn']:.2f} / {row['agent_learn']:.2f} |")
    base = rows[0]
    for row in rows[1:]:
        print(f"\n{row['encoder']} / cnn: rollout {row['agent_forward'] / base['agent_forward']:.2f}x, "
              f"learner {row['agent_learn'] / base['agent_learn']:.2f}x (whole agent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
