"""Implementations of the store port (`messpunkt.sandbox.SandboxStore`)."""
