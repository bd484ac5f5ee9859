"""The gateway's http layer."""
