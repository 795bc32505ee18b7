"""The reference for start-up and per-call overhead: a bare `MCPServer` with five trivial typed tools.

Run by `bench/start.py` and `bench/overhead.py` as `python bench/bare_server.py` (stdio). It imports
nothing but the SDK, so whatever ours costs beyond it is ours.
"""

from mcp.server.mcpserver import MCPServer

app = MCPServer("bare")


@app.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@app.tool()
def scale(value: float, factor: float = 2.0) -> float:
    """Multiply a number."""
    return value * factor


@app.tool()
def count(items: list[str]) -> int:
    """Count the items."""
    return len(items)


@app.tool()
def flag(on: bool) -> bool:
    """Return the flag."""
    return on


if __name__ == "__main__":
    app.run("stdio")
