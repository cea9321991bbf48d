"""The FastAPI peer of the serving benchmark (bench/README.md): the same fraud-detector
model.json behind the same Open Inference Protocol v2 infer request and response JSON as
`mmsp serve`, written the way the Python serving stacks we compare with do it: pydantic request
models, numpy, the xgboost Booster (python3-xgboost), uvicorn.

    FRAUD_MODEL=build/examples/fraud-detector/repository/fraud-detector/1/model.json \
    OMP_NUM_THREADS=1 /usr/bin/python3 -m uvicorn bench.serve.fastapi_app:app --workers 1

Endpoints: POST /v2/models/fraud-detector/infer, GET /v2/health/ready,
GET /v2/models/fraud-detector/ready, GET /model/info. Not part of the product.
"""
import os
from typing import Any, Dict, List, Optional

import numpy as np
import xgboost as xgb
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

MODEL_NAME = "fraud-detector"
MODEL_VERSION = "1"
MODEL_PATH = os.environ.get(
    "FRAUD_MODEL", "build/examples/fraud-detector/repository/fraud-detector/1/model.json")

booster = xgb.Booster(model_file=MODEL_PATH)
booster.set_param({"nthread": 1})
N_FEATURES = booster.num_features()


class InferInput(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[float]
    parameters: Optional[Dict[str, Any]] = None


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[InferInput]
    parameters: Optional[Dict[str, Any]] = None


app = FastAPI(title="fraud-detector (FastAPI peer)")


@app.exception_handler(HTTPException)
async def error_body(request, exc):
    # The protocol's error shape: {"error": "..."}.
    return JSONResponse(status_code=exc.status_code, content={"error": exc.detail})


@app.get("/v2/health/ready")
async def health_ready():
    return {"ready": True}


@app.get("/v2/models/{model_name}/ready")
async def model_ready(model_name: str):
    if model_name != MODEL_NAME:
        raise HTTPException(status_code=404, detail=f"model '{model_name}' not found")
    return {"name": MODEL_NAME, "ready": True}


@app.get("/model/info")
async def model_info():
    return {"name": MODEL_NAME, "version": MODEL_VERSION, "backend": "xgboost",
            "features": booster.feature_names, "num_features": N_FEATURES}


@app.post("/v2/models/{model_name}/infer")
async def infer(model_name: str, request: InferRequest):
    if model_name != MODEL_NAME:
        raise HTTPException(status_code=404, detail=f"model '{model_name}' not found")
    if len(request.inputs) != 1 or request.inputs[0].name != "input":
        raise HTTPException(status_code=400, detail="expected one input named 'input'")
    tensor = request.inputs[0]
    if tensor.datatype != "FP32":
        raise HTTPException(status_code=400, detail="input: datatype must be FP32")
    if len(tensor.shape) != 2 or tensor.shape[1] != N_FEATURES or \
            tensor.shape[0] * N_FEATURES != len(tensor.data):
        raise HTTPException(status_code=400,
                            detail=f"input: shape must be [N, {N_FEATURES}] and match the data")
    x = np.asarray(tensor.data, dtype=np.float32).reshape(tensor.shape)
    probabilities = booster.inplace_predict(x)
    response = {
        "model_name": MODEL_NAME,
        "model_version": MODEL_VERSION,
        "outputs": [{
            "name": "predict",
            "datatype": "FP32",
            "shape": [int(x.shape[0])],
            "data": probabilities.tolist(),
        }],
    }
    if request.id is not None:
        response["id"] = request.id
    return response
