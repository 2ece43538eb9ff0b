"""Train the iris classifier and save it with joblib; the Dockerfile runs this at build time.

The data set is the one bundled with scikit-learn (`load_iris`), so training needs no network.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import joblib
import sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

DEFAULT_OUTPUT = Path(__file__).with_name("model.joblib")
# A model below this held-out accuracy fails the image build instead of being served.
MIN_ACCURACY = 0.9


def train(seed: int = 42) -> dict[str, Any]:
    """Fit a scaled logistic regression on 80% of iris and score it on the other 20%."""
    iris = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=0.2, random_state=seed, stratify=iris.target
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x_train, y_train)
    return {
        "model": model,
        "target_names": [str(name) for name in iris.target_names],
        "feature_names": [str(name) for name in iris.feature_names],
        "accuracy": float(model.score(x_test, y_test)),
        "sklearn_version": sklearn.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    """Train, check the accuracy, and write the model bundle."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to save it")
    parser.add_argument("--seed", type=int, default=42, help="train/test split seed")
    args = parser.parse_args(argv)

    bundle = train(args.seed)
    print(f"held-out accuracy: {bundle['accuracy']:.3f}")
    if bundle["accuracy"] < MIN_ACCURACY:
        print(f"accuracy below {MIN_ACCURACY}: not saving the model", file=sys.stderr)
        return 1
    joblib.dump(bundle, args.output)
    print(f"saved {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
