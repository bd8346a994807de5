"""The slow path: RQ workers that run delegated tasks on OpenClaw and stream results back."""
