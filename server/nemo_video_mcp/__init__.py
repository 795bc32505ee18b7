"""nemo-video-mcp: an MCP server that turns still images into finished videos."""

__version__ = "0.1.0"

__all__ = ["__version__"]
