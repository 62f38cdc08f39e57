"""The served model, and reloading it on demand."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from crossgraph.api import schemas
from crossgraph.api.deps import AdminKey, AppState, EngineDep, ReadKey, StateDep
from crossgraph.api.errors import RESPONSES
from crossgraph.errors import ModelNotLoaded
from crossgraph.graph.feedback import feedback_stats, with_rates
from crossgraph.recommend.ranking import CrossSellCalibration, calibrate

router = APIRouter(prefix="/v1", tags=["model"], responses=RESPONSES)


@router.get("/model", response_model=schemas.ModelInfo)
async def model(engine: EngineDep, state: StateDep, _: ReadKey) -> schemas.ModelInfo:
    """Version, training time, data size, parameters, metrics of the model and every baseline
    on the same time split (offline), and acceptance and win rate from feedback (online)."""
    manifest = engine.artifact.manifest
    online = await run_in_threadpool(state.graph.run, feedback_stats)
    return schemas.ModelInfo(
        version=engine.version,
        created=manifest.get("created"),
        loaded_at=state.holder.loaded_at,
        model=manifest.get("model"),
        data=manifest.get("data", {}),
        params=manifest.get("params", {}),
        metrics=manifest.get("metrics", {}),
        similar_k=engine.peers_k,
        top_n=int(engine.recommended.shape[1]),
        feedback=None if online is None else online.get(engine.version, with_rates({})),
        feedback_by_version=online,
        likelihoods=likelihoods(state),
        calibrated_at=state.calibrated_at,
        cross_sell_calibration=cross_sell_calibration(state),
        load_error=load_error(state),
    )


def cross_sell_calibration(state: AppState) -> schemas.CrossSellFactor:
    fusion = state.intel.fusion
    c = fusion.cross_sell_calibration or CrossSellCalibration(fusion.prior_strength)
    return schemas.CrossSellFactor(
        prior_strength=c.strength,
        won=c.won,
        failed=c.failed,
        decisions=c.decisions,
        expected=round(c.expected, 4),
        factor=round(c.factor, 4),
    )


def load_error(state: AppState) -> schemas.LoadError | None:
    refused = state.holder.refusal()
    if refused is None:
        return None
    return schemas.LoadError(version=refused.version, at=refused.at, reason=refused.reason)


def likelihoods(state: AppState) -> list[schemas.Likelihood]:
    """The served calibration, or the configured rates with no decisions before the first one."""
    fusion = state.intel.fusion
    posteriors = fusion.calibration or calibrate(fusion.likelihood, [], fusion.prior_strength)
    return [
        schemas.Likelihood(
            signal=p.signal,
            kind=p.kind,
            prior=p.prior,
            prior_strength=p.strength,
            won=p.won,
            failed=p.failed,
            decisions=p.decisions,
            likelihood=round(p.mean, 4),
        )
        for p in posteriors.values()
    ]


@router.post("/admin/reload", response_model=schemas.ReloadResult, tags=["admin"])
async def reload(state: StateDep, _: AdminKey) -> schemas.ReloadResult:
    """Load the registry's current model now (the server also notices promotions by itself).
    The new model is loaded completely, with the changes made after its training export
    replayed, before it replaces the old one."""
    try:
        previous, current = await run_in_threadpool(state.holder.reload, state.changes.follow)
    except ModelNotLoaded:
        state.metrics.reloads.labels(outcome="failed").inc()
        raise
    if previous != current:
        state.metrics.reloads.labels(outcome="loaded").inc()
        state.metrics.set_model(current)
    return schemas.ReloadResult(previous=previous, current=current, changed=previous != current)
