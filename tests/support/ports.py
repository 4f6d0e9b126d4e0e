import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pack_environment(data_dir: str) -> dict[str, str]:
    """RETAILCARE_* variables giving every process free ports and its own data folder."""
    from services.composition import PACK

    env = {"RETAILCARE_DATA_DIR": data_dir, "RETAILCARE_DRAIN_SECONDS": "0.2"}
    for name in PACK.names:
        env[f"RETAILCARE_{name.upper()}_GRPC_PORT"] = str(free_port())
        env[f"RETAILCARE_{name.upper()}_HTTP_PORT"] = str(free_port())
    return env
