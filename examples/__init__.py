"""Samples for integrators: code meant to be read and copied, not imported by the backend."""
