from setuptools import find_packages, setup

setup(
    name="sf-maze",
    version="0.1.0",
    description="Memory Maze training stack: Sample Factory APPO/V-trace, DreamerV2, probing",
    python_requires=">=3.10",
    packages=find_packages(include=["common*", "envs*", "networks*", "sf_maze*", "dreamer*", "launcher*", "probing*"]),
    package_data={"": ["*.yaml"]},
    install_requires=[
        "torch==2.13.0",
        "sample-factory==2.1.1",
        "numpy<2",
        "gymnasium<1.0",
        "huggingface-hub<1.0",
        "memory-maze==1.0.3",
        "dm-control==1.0.50",
        "mujoco==3.17.0",
        "labmaze==1.0.6",
        "wandb<0.29",
        "tensorboard",
        "imageio",
        "imageio-ffmpeg",
        "tqdm",
        "matplotlib",
    ],
    extras_require={"dev": ["pytest", "pygame"]},
)
