"""`python -m nemo_video_mcp` runs the same entry point as the `nemo-video-mcp` script."""

from nemo_video_mcp.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
