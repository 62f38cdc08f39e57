# One image for the Spark profile of docker-compose.yml (docs/scale.md): the standalone master,
# its workers and the nightly trainer (the Spark driver, in client mode). The pyspark package
# carries Spark's jars and launchers, so master and workers run the very Spark the driver uses
# (no version skew), under the same user as the api image (the models volume stays writable)
# and the same one on both ends of the shared checkpoint folder.
#   docker compose --profile spark build
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1
RUN apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY cypher ./cypher
COPY training ./training
# spark-submit runs a Python application only from a .py file (a console script is taken for a
# jar), hence the link to the package's __main__.py
RUN pip install ".[spark]" \
    && ln -s "$(python -c 'import crossgraph, os; print(os.path.dirname(crossgraph.__file__))')/__main__.py" \
       /app/crossgraph_job.py \
    && useradd --uid 10001 --create-home crossgraph \
    && mkdir -p /models /data /lake /checkpoints /tmp/spark-work \
    && chown crossgraph /models /data /lake /checkpoints /tmp/spark-work
USER crossgraph
ENV CROSSGRAPH_MODEL_DIR=/models CROSSGRAPH_DATA_DIR=/data SPARK_WORKER_DIR=/tmp/spark-work
