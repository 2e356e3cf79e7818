# Triton Python-backend model that runs an ONNX classifier with onnxruntime on CPU: the
# Triton binary inside the PyPI package nvidia-pytriton has no ONNX Runtime backend.
# Used by the tests and the local demo (server/triton/serve.sh); production Triton
# serves the ONNX file itself with its onnxruntime backend (repository.py --variant
# onnxruntime).
#
# config.pbtxt parameters:
#   onnx_file      the model file (default: model.onnx next to this file)
#   site_packages  a venv's site-packages holding numpy and onnxruntime: this file runs
#                  in the backend's own interpreter, which does not see the venv
import json
import os
import sys


def _parameter(config, key, default=""):
    return config.get("parameters", {}).get(key, {}).get("string_value", default)


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        site = _parameter(config, "site_packages")
        if site and site not in sys.path:
            sys.path.insert(0, site)
        import numpy  # after sys.path is set
        import onnxruntime
        import triton_python_backend_utils as pb_utils

        self.pb_utils = pb_utils
        here = os.path.dirname(os.path.abspath(__file__))
        onnx_file = _parameter(config, "onnx_file") or os.path.join(here, "model.onnx")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(_parameter(config, "threads", "0") or 0)
        self.session = onnxruntime.InferenceSession(
            onnx_file, options, providers=["CPUExecutionProvider"]
        )
        self.input = config["input"][0]["name"]
        self.output = config["output"][0]["name"]
        self.onnx_input = self.session.get_inputs()[0].name
        self.onnx_output = self.session.get_outputs()[0].name
        # The served types: what the model file takes (FP32, FP16 or UINT8 pixels), and
        # what config.pbtxt declares for the scores.
        takes = {"tensor(float16)": numpy.float16, "tensor(uint8)": numpy.uint8}
        self.input_type = takes.get(self.session.get_inputs()[0].type, numpy.float32)
        answers = {"TYPE_FP16": numpy.float16, "TYPE_FP64": numpy.float64}
        self.output_type = answers.get(config["output"][0]["data_type"], numpy.float32)

    def execute(self, requests):
        # Dynamic batching hands several requests at once: one run for all of them.
        inputs = [
            self.pb_utils.get_input_tensor_by_name(r, self.input).as_numpy() for r in requests
        ]
        import numpy

        batch = numpy.concatenate(inputs).astype(self.input_type, copy=False)
        scores = self.session.run([self.onnx_output], {self.onnx_input: batch})[0]
        responses = []
        start = 0
        for tensor in inputs:
            end = start + tensor.shape[0]
            out = self.pb_utils.Tensor(self.output, scores[start:end].astype(self.output_type))
            responses.append(self.pb_utils.InferenceResponse(output_tensors=[out]))
            start = end
        return responses
