"""The one mp4 writer (sf_maze.enjoy, dreamer.enjoy, evaluation.play): H.264 through imageio-ffmpeg,
frames streamed to disk."""
import os

import numpy as np


def even_sides(frame: np.ndarray) -> np.ndarray:
    """H.264 in yuv420p needs even sides; pad with black rather than resample."""
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)))
    return frame


def text_bar(width: int, text: str, height: int = 24, color=(25, 25, 25)) -> np.ndarray:
    """A dark strip with one line of text, to sit above a frame."""
    import cv2

    bar = np.zeros((height, width, 3), np.uint8)
    bar[:] = color
    cv2.putText(bar, text, (4, int(height * 0.7)), cv2.FONT_HERSHEY_SIMPLEX, height / 40.0, (235, 235, 235), 1,
                cv2.LINE_AA)
    return bar


class VideoWriter:
    """Streams RGB frames to an mp4, so a 1000-step episode never sits in memory; frames of any size
    (odd sides padded, never resampled). Usable as `with VideoWriter(path, fps) as writer:`.

    H.264/yuv420p (not OpenCV's mp4v, which Sample Factory writes) so browsers and players open it.
    """

    def __init__(self, path: str, fps: float):
        import imageio

        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self._writer = imageio.get_writer(path, format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                          pixelformat="yuv420p", macro_block_size=1, quality=7)
        self.frames = 0

    def append(self, frame: np.ndarray) -> None:
        self._writer.append_data(even_sides(np.ascontiguousarray(frame, dtype=np.uint8)))
        self.frames += 1

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
