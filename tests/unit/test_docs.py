"""The documentation says what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from crossgraph.data.tables import columns_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_data_format_doc_matches_the_table_specs() -> None:
    doc = (ROOT / "docs" / "data-format.md").read_text()
    assert doc.endswith(columns_markdown()), "regenerate docs/data-format.md from columns_markdown()"


def test_readme_starts_with_the_two_commands_and_they_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:25])
    assert "make demo" in first_screen and "make test" in first_screen
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
    for target in re.findall(r"`make ([a-z-]+)`", readme):
        assert target in targets, f"README names `make {target}` but the Makefile has no such target"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_every_cli_command_in_the_readme_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = set(re.findall(r"`crossgraph ([a-z0-9-]+(?: [a-z][a-z0-9-]*)?)", readme))
    assert commands
    from typer.testing import CliRunner

    from crossgraph.cli import app

    runner = CliRunner()
    for command in sorted(commands):
        result = runner.invoke(app, [*command.split(), "--help"])
        assert result.exit_code == 0, f"`crossgraph {command} --help` failed: {result.output}"


def test_docker_compose_runs_neo4j_526_as_the_readme_says() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    neo4j = compose["services"]["neo4j"]
    assert neo4j["image"].startswith("neo4j:5.26")
    assert any(v.endswith(":/data") for v in neo4j["volumes"])
    assert neo4j["volumes"][0].split(":")[0] in compose["volumes"]
    assert "cypher-shell" in " ".join(neo4j["healthcheck"]["test"])
    # Loopback only, and the password comes from the environment, never the file.
    assert all(p.startswith("127.0.0.1:") for p in neo4j["ports"])
    assert "${NEO4J_PASSWORD" in neo4j["environment"]["NEO4J_AUTH"]
    readme = (ROOT / "README.md").read_text()
    assert "docker compose up -d neo4j" in readme
    for port in neo4j["ports"]:
        host_port = port.split(":")[1]
        if host_port == "7687":
            assert "CROSSGRAPH_NEO4J_URI=bolt://127.0.0.1:7687" in readme


def test_docker_compose_api_and_trainer_share_the_image_models_and_secret() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    api, trainer = compose["services"]["api"], compose["services"]["trainer"]
    assert api["build"]["dockerfile"] == "api/Dockerfile" and (ROOT / "api" / "Dockerfile").exists()
    assert trainer["image"] == api["image"]
    assert all(p.startswith("127.0.0.1:") for p in api["ports"])
    assert api["environment"]["CROSSGRAPH_NEO4J_PASSWORD"].startswith("${NEO4J_PASSWORD")
    assert api["environment"]["CROSSGRAPH_NEO4J_URI"] == "bolt://neo4j:7687"
    models = {v for v in api["volumes"] if v.endswith(":/models")}
    assert models and models <= set(trainer["volumes"])
    assert trainer["command"][:3] == ["train", "--params", "training/params.json"]
    assert (ROOT / "training" / "params.json").exists()


def test_docker_compose_spark_profile_trains_on_its_own_cluster_with_shared_paths() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    spark = {name: services[name] for name in ("spark-master", "spark-worker", "spark-train")}
    assert all(s["profiles"] == ["spark"] for s in spark.values())  # never started by a plain `up`
    assert {s["image"] for s in spark.values()} == {"crossgraph-spark:local"}
    assert spark["spark-master"]["build"]["dockerfile"] == "training/spark.Dockerfile"
    assert (ROOT / "training" / "spark.Dockerfile").exists()
    assert all(p.startswith("127.0.0.1:") for p in spark["spark-master"]["ports"])
    assert "spark://spark-master:7077" in spark["spark-worker"]["command"]
    job = spark["spark-train"]["command"][0]
    # spark-submit takes a console script for a jar: the job must name a .py file
    assert "spark-submit --master spark://spark-master:7077" in job and "/app/crossgraph_job.py train" in job
    assert "--parquet /lake/nightly" in job and "crossgraph export --parquet /lake/nightly" in job
    # executors read the lake and write checkpoints where the driver names them
    shared = {v for v in spark["spark-worker"]["volumes"]}
    assert {"lake:/lake", "spark-checkpoints:/checkpoints"} <= shared <= set(spark["spark-train"]["volumes"])
    assert "--checkpoint-dir /checkpoints" in job
    models = {v for v in services["api"]["volumes"] if v.endswith(":/models")}
    assert models <= set(spark["spark-train"]["volumes"])
    assert "docker compose --profile spark run --rm spark-train" in (ROOT / "docs" / "scale.md").read_text()


def test_training_schedules_run_the_real_command_with_the_shipped_parameters() -> None:
    job = yaml.safe_load((ROOT / "training" / "cronjob.yaml").read_text())
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["sh", "-c"]
    script = container["command"][2]
    assert script.startswith("crossgraph train --params /config/params.json;")
    assert "if [ $code -ne 1 ]; then crossgraph worklist refresh" in script  # after a promotion or a refusal
    env = {e["name"]: e for e in container["env"]}
    assert "valueFrom" in env["CROSSGRAPH_NEO4J_PASSWORD"]  # a secret, never a literal
    crontab = (ROOT / "training" / "crontab").read_text()
    assert "crossgraph train --params training/params.json; [ $? -ne 1 ] && " in crontab
    assert "[ $? -ne 1 ] && .venv/bin/crossgraph worklist refresh;" in crontab
    import json

    from crossgraph.model.hybrid import HybridParams
    from crossgraph.model.train import GateConfig

    params = json.loads((ROOT / "training" / "params.json").read_text())
    HybridParams.from_dict(params["model"])
    GateConfig(**params["gate"])


def test_the_shipped_openapi_document_matches_the_app(tmp_path: Path) -> None:
    import json

    from crossgraph.api.app import create_app
    from crossgraph.settings import Settings

    shipped = json.loads((ROOT / "api" / "openapi.json").read_text())
    app = create_app(Settings(data_dir=tmp_path, model_dir=tmp_path / "models"))
    assert shipped == app.openapi(), "regenerate it: crossgraph openapi api/openapi.json"
    for path in (
        "/v1/accounts/{account_id}/recommendations",
        "/v1/accounts/{account_id}/similar",
        "/v1/accounts/{account_id}/evidence/{sku}",
        "/v1/recommendations/batch",
        "/v1/model",
        "/v1/admin/reload",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in shipped["paths"], path
