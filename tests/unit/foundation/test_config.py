import pytest

from services.common.config import ConfigError, load_settings, options, shown
from services.composition import PACK


def test_defaults_are_the_documented_ports_and_sqlite():
    settings = load_settings(PACK, environ={})
    assert [settings.grpc_port(n) for n in ("gateway", "classification", "complaints", "evaluation")] == [
        50051,
        50052,
        50053,
        50054,
    ]
    assert [settings.http_port(n) for n in ("gateway", "classification", "complaints", "evaluation")] == [
        9151,
        9152,
        9153,
        9154,
    ]
    assert settings.database_url("complaints").get_backend_name() == "sqlite"
    assert str(settings.database_url("complaints")).endswith("data/complaints.db")


def test_environment_overrides_file_which_overrides_defaults(tmp_path):
    config = tmp_path / "retailcare.yaml"
    config.write_text("log_level: DEBUG\nclassification_grpc_port: 6000\n")
    settings = load_settings(
        PACK, environ={"RETAILCARE_CONFIG": str(config), "RETAILCARE_CLASSIFICATION_GRPC_PORT": "6001"}
    )
    assert settings.log_level == "DEBUG"
    assert settings.grpc_port("classification") == 6001


def test_postgresql_url_uses_psycopg():
    settings = load_settings(PACK, environ={"RETAILCARE_EVALUATION_DATABASE_URL": "postgresql://u@h:5432/db"})
    assert settings.database_url("evaluation").drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"RETAILCARE_GATEWAY_PORT": "1"}, "RETAILCARE_GATEWAY_PORT"),
        ({"RETAILCARE_CLASSIFICATION_DATABASE_URL": "not a url"}, "classification_database_url"),
        ({"RETAILCARE_COMPLAINTS_DATABASE_URL": "mysql://x@y/z"}, "complaints_database_url"),
        ({"RETAILCARE_EVALUATION_DATABASE_URL": "postgresql://x@y"}, "evaluation_database_url"),
        ({"RETAILCARE_MAX_WORKERS": "many"}, "max_workers"),
    ],
)
def test_bad_configuration_names_the_key(environ, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(PACK, environ=environ)


def test_unknown_key_in_config_file_is_named(tmp_path):
    config = tmp_path / "retailcare.yaml"
    config.write_text("grpc_prot: 1\n")
    with pytest.raises(ConfigError, match="grpc_prot"):
        load_settings(PACK, environ={"RETAILCARE_CONFIG": str(config)})


@pytest.mark.parametrize("port", ["0", "65536", "99999", "-1"])
def test_ports_outside_1_to_65535_are_refused_naming_the_variable(port):
    with pytest.raises(ConfigError, match="RETAILCARE_CLASSIFICATION_GRPC_PORT.*from 1 to 65535"):
        load_settings(PACK, environ={"RETAILCARE_CLASSIFICATION_GRPC_PORT": port})


def test_the_edges_of_the_port_range_are_accepted():
    settings = load_settings(
        PACK, environ={"RETAILCARE_GATEWAY_GRPC_PORT": "1", "RETAILCARE_GATEWAY_HTTP_PORT": "65535"}
    )
    assert (settings.grpc_port("gateway"), settings.http_port("gateway")) == (1, 65535)


def test_config_shows_secrets_masked():
    known = options(PACK)
    url = "postgresql://app:s3cret@db:5432/complaints"
    assert shown(known, "complaints_database_url", url) == "postgresql://app:***@db:5432/complaints"
    assert shown(known, "gateway_tokens", "ops abcdef") == "(set)"
    assert shown(known, "gateway_tokens", "") == ""
    assert shown(known, "log_level", "INFO") == "INFO"


def test_a_port_out_of_range_in_the_config_file_is_refused(tmp_path):
    config = tmp_path / "retailcare.yaml"
    config.write_text("complaints_http_port: 70000\n")
    with pytest.raises(ConfigError, match="complaints_http_port must be a port from 1 to 65535"):
        load_settings(PACK, environ={"RETAILCARE_CONFIG": str(config)})
