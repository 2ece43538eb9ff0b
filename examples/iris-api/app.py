"""iris-api: a Flask API serving predictions of the iris classifier that train.py made.

GET  /                                   service info (also the health check)
POST /predict  {"features": [5.1, 3.5, 1.4, 0.2]}
GET  /predict?features=5.1,3.5,1.4,0.2   the same, for curl
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import joblib
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

MODEL_PATH = Path(os.environ.get("MODEL_PATH", Path(__file__).with_name("model.joblib")))
EXAMPLE = [5.1, 3.5, 1.4, 0.2]


class FeaturesError(ValueError):
    """The request's features are not four finite numbers."""


def parse_features(raw: Any, count: int) -> list[float]:
    """Check a JSON value (or a comma-separated string) and return it as `count` floats."""
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",")] if raw.strip() else []
    if not isinstance(raw, list) or len(raw) != count:
        raise FeaturesError(f"'features' must be a list of {count} numbers, e.g. {EXAMPLE}")
    values = []
    for item in raw:
        if isinstance(item, bool):
            raise FeaturesError(f"not a number: {item!r}")
        try:
            value = float(item)
        except (TypeError, ValueError):
            raise FeaturesError(f"not a number: {item!r}") from None
        if not math.isfinite(value):
            raise FeaturesError(f"not a finite number: {item!r}")
        values.append(value)
    return values


def create_app(model_path: Path = MODEL_PATH) -> Flask:
    """Load the model bundle once and build the Flask application around it."""
    bundle = joblib.load(model_path)
    model = bundle["model"]
    classes: list[str] = bundle["target_names"]
    features: list[str] = bundle["feature_names"]
    app = Flask(__name__)

    @app.get("/")
    def index() -> ResponseReturnValue:
        return jsonify(
            service="iris-api",
            status="ok",
            model=type(model[-1]).__name__,
            accuracy=round(bundle["accuracy"], 3),
            classes=classes,
            features=features,
            usage={
                "POST /predict": {"features": EXAMPLE},
                "GET /predict": "?features=" + ",".join(map(str, EXAMPLE)),
            },
        )

    @app.route("/predict", methods=["GET", "POST"])
    def predict() -> ResponseReturnValue:
        if request.method == "POST":
            body = request.get_json(silent=True)
            raw = body.get("features") if isinstance(body, dict) else None
        else:
            raw = request.args.get("features", "")
        try:
            values = parse_features(raw, len(features))
        except FeaturesError as exc:
            return jsonify(error=str(exc)), 400
        probabilities = model.predict_proba([values])[0]
        best = int(probabilities.argmax())
        return jsonify(
            {
                "class": classes[best],
                "class_id": best,
                "probabilities": {
                    name: round(float(p), 4) for name, p in zip(classes, probabilities, strict=True)
                },
                "features": dict(zip(features, values, strict=True)),
            }
        )

    return app


# gunicorn serves `app:app`; the model loads once, in the master (gunicorn --preload).
app = create_app()
