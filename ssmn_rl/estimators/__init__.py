"""scikit-learn estimators built on the SSMN: :class:`SSMNRegressor` and :class:`SSMNClassifier`
(streams and sequences), :class:`SSMNForecaster` (multi-step forecasting) and
:class:`SSMNTransformer` (reservoir-style features for Pipelines).

Running a grid search on Ray
----------------------------
Every estimator here pickles, so scikit-learn's searches can run on a Ray instance through
joblib's ``ray`` backend (``pip install "ray[default]"`` or just ``ray``)::

    import joblib
    import ray
    from ray.util.joblib import register_ray
    from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

    ray.init()                 # local instance; ray.init(address="auto") joins a cluster
    register_ray()
    search = GridSearchCV(SSMNRegressor(solver="ridge"),
                          {"plastic_ratio": [0.2, 0.5], "window_size": [4, 8]},
                          cv=TimeSeriesSplit(3), n_jobs=-1)
    with joblib.parallel_backend("ray"):
        search.fit(X, y)
    ray.shutdown()

Use a time-ordered splitter (``TimeSeriesSplit``) for 2-D streams: rows are not independent.
"""
from ._classifier import SSMNClassifier
from ._forecaster import SSMNForecaster
from ._regressor import SSMNRegressor
from ._transformer import SSMNTransformer

__all__ = ["SSMNClassifier", "SSMNForecaster", "SSMNRegressor", "SSMNTransformer"]
