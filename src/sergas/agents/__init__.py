"""The MCP server for agents (`sergas mcp`): accounts, the sweep's findings, proposed changes
behind an approval queue (`sergas.access.approvals`), and an audit of every tool call.
See docs/service.md."""

from sergas.agents.server import AgentServices, build_server
from sergas.agents.transport import create_mcp_app, run_stdio

__all__ = ["AgentServices", "build_server", "create_mcp_app", "run_stdio"]
