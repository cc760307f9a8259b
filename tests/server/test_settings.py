"""Settings: read once from GIGMETRICS_* variables; a bad value names itself."""

from __future__ import annotations

import pytest

from server.errors import SettingsError
from server.model import Surface
from server.settings import DEFAULT_DATABASE_URL, Settings


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.allowed_origins == ("*",)
    assert settings.api_origins == ()
    assert settings.admin_key is None
    assert settings.click_surfaces == {Surface.SEARCH, Surface.CATEGORY}
    assert settings.raw_retention_days == 35
    assert settings.bucket_retention_days == 400


def test_every_variable_is_read() -> None:
    settings = Settings.from_env({
        "GIGMETRICS_DATABASE_URL": "mongodb://db.internal:27017/gm",
        "GIGMETRICS_ALLOWED_ORIGINS": "https://a.example, https://b.example/",
        "GIGMETRICS_API_ORIGINS": "https://dash.example",
        "GIGMETRICS_ADMIN_KEY": "s3cret",
        "GIGMETRICS_GRAPHIQL": "false",
        "GIGMETRICS_DEMO": "off",
        "GIGMETRICS_RAW_RETENTION_DAYS": "60",
        "GIGMETRICS_BUCKET_RETENTION_DAYS": "500",
        "GIGMETRICS_CLICK_SURFACES": "search,category,homepage",
        "GIGMETRICS_SIGNING_KEYS": "k1:0123456789abcdef",
        "GIGMETRICS_RATE_LIMITS": "ip=off",
    })
    assert settings.database_url == "mongodb://db.internal:27017/gm"
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.api_origins == ("https://dash.example",)
    assert settings.admin_key == "s3cret"
    assert settings.graphiql is False and settings.demo is False
    assert (settings.raw_retention_days, settings.bucket_retention_days) == (60, 500)
    assert Surface.HOMEPAGE in settings.click_surfaces
    assert settings.signing_keys is not None and settings.signing_keys.keys[0][0] == "k1"
    assert settings.rate_limits.ip is None and settings.rate_limits.pv is not None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GIGMETRICS_DATABASE_URL", "postgres://x"),
        ("GIGMETRICS_ALLOWED_ORIGINS", "shop.example"),
        ("GIGMETRICS_API_ORIGINS", "dash.example/path"),
        ("GIGMETRICS_GRAPHIQL", "maybe"),
        ("GIGMETRICS_RATE_LIMITS", "ip=1200"),
        ("GIGMETRICS_SIGNING_KEYS", "k1:short"),
        ("GIGMETRICS_RAW_RETENTION_DAYS", "ten"),
        ("GIGMETRICS_RAW_RETENTION_DAYS", "3"),
        ("GIGMETRICS_BUCKET_RETENTION_DAYS", "30"),
        ("GIGMETRICS_CLICK_SURFACES", "search,feed"),
    ],
)
def test_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize(
    "value",
    [
        "https://shop.example.com/path",
        "https://*.example.com",
        "*.example.com",
        "https://a.example https://b.example",
        "https://a.example;https://b.example",
        "https://shop.example.com?from=ads",
        "https://user@shop.example.com",
        "https://shop.example.com:99999",
        ",",
        " , ",
    ],
)
def test_origins_that_could_never_match_are_refused_with_what_is_accepted(value: str) -> None:
    for name in ("GIGMETRICS_ALLOWED_ORIGINS", "GIGMETRICS_API_ORIGINS"):
        with pytest.raises(SettingsError, match=name) as refused:
            Settings.from_env({name: value})
        message = str(refused.value)
        assert "https://shop.example.com" in message, message
        assert "comma" in message or "scheme and host" in message, message


def test_origins_are_written_as_browsers_send_them() -> None:
    settings = Settings.from_env(
        {"GIGMETRICS_ALLOWED_ORIGINS": "https://Shop.Example.com:443/,http://localhost:3000"}
    )
    assert settings.allowed_origins == ("https://shop.example.com", "http://localhost:3000")


def test_metrics_and_log_settings() -> None:
    assert (Settings().metrics, Settings().log_format) == ("main", "plain")
    assert Settings.from_env({"GIGMETRICS_METRICS": "off"}).metrics == "off"
    separate = Settings.from_env({"GIGMETRICS_METRICS": "9464", "GIGMETRICS_LOG_FORMAT": "json"})
    assert (separate.metrics, separate.metrics_address) == ("port", ("127.0.0.1", 9464))
    assert separate.log_format == "json"
    for name, value in [("GIGMETRICS_METRICS", "80000"), ("GIGMETRICS_METRICS", "yes"),
                        ("GIGMETRICS_LOG_FORMAT", "xml")]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


def test_the_demo_pages_are_off_with_signing_on_unless_asked_for() -> None:
    signing = {"GIGMETRICS_SIGNING_KEYS": "k1:0123456789abcdef"}
    assert Settings.from_env({}).demo is True
    assert Settings.from_env(signing).demo is False
    assert Settings.from_env({**signing, "GIGMETRICS_DEMO": "true"}).demo is True


def test_the_embedded_store_fsyncs_acknowledged_beacons_unless_told_otherwise() -> None:
    assert Settings.from_env({}).sqlite_synchronous == "full"
    relaxed = Settings.from_env({"GIGMETRICS_SQLITE_SYNCHRONOUS": "normal"})
    assert relaxed.sqlite_synchronous == "normal"
    with pytest.raises(SettingsError, match="GIGMETRICS_SQLITE_SYNCHRONOUS"):
        Settings.from_env({"GIGMETRICS_SQLITE_SYNCHRONOUS": "off"})
