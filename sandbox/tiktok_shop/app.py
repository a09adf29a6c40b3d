"""Placeholder: replaced by the emulator implementation."""

from starlette.applications import Starlette

from sandbox.context import SandboxContext


def build_tiktok_app(ctx: SandboxContext) -> Starlette:
    return Starlette(routes=[])
