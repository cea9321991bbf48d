/*
 * The operator registry: one line per operator implementation in `ops` below. A node
 * (domain, op_type) at the model's opset for that domain takes the first entry whose
 * since_min..since_max range holds the opset. Adding an operator = its .c file in this
 * directory + its extern line + its table line. Calls: libc (strcmp).
 */
#include <stddef.h>
#include <string.h>

#include "runtime/onnx/op.h"

/* ai.onnx */
extern const struct onnx_op onnx_op_Add, onnx_op_Sub, onnx_op_Mul, onnx_op_Div;
extern const struct onnx_op onnx_op_MatMul, onnx_op_Gemm;
extern const struct onnx_op onnx_op_Relu, onnx_op_Sigmoid, onnx_op_Tanh;
extern const struct onnx_op onnx_op_Softmax;
extern const struct onnx_op onnx_op_Identity, onnx_op_Dropout, onnx_op_Reshape, onnx_op_Flatten;
extern const struct onnx_op onnx_op_Constant;
extern const struct onnx_op onnx_op_Cast;
/* h12: data movement and shape ops (squeeze.c strided.c concat.c gather.c shape_of.c
   expand.c topk.c) */
extern const struct onnx_op onnx_op_Squeeze, onnx_op_Unsqueeze, onnx_op_Transpose, onnx_op_Slice;
extern const struct onnx_op onnx_op_Concat, onnx_op_Split, onnx_op_Gather;
extern const struct onnx_op onnx_op_Shape, onnx_op_ConstantOfShape;
extern const struct onnx_op onnx_op_Expand, onnx_op_Tile, onnx_op_TopK;
/* h12 end */

/* h13: ai.onnx.ml (ml_trees.c ml_linear.c ml_preprocess.c ml_label_encoder.c ml_svm.c) */
extern const struct onnx_op onnx_op_TreeEnsembleClassifier, onnx_op_TreeEnsembleRegressor;
extern const struct onnx_op onnx_op_LinearClassifier, onnx_op_LinearRegressor;
extern const struct onnx_op onnx_op_Scaler, onnx_op_Normalizer, onnx_op_Binarizer, onnx_op_Imputer;
extern const struct onnx_op onnx_op_ArrayFeatureExtractor, onnx_op_OneHotEncoder, onnx_op_ZipMap;
extern const struct onnx_op onnx_op_LabelEncoder;
/* h13 end */

/* h15: ai.onnx.ml SVMs (ml_svm.c) */
extern const struct onnx_op onnx_op_SVMClassifier, onnx_op_SVMRegressor;
/* h15 end */

/* h11: math, reductions, logic, normalisation (unary.c pow.c variadic.c logical.c reduce.c
   logsoftmax.c norm.c) */
extern const struct onnx_op onnx_op_Sqrt, onnx_op_Exp, onnx_op_Log, onnx_op_Abs, onnx_op_Neg;
extern const struct onnx_op onnx_op_Reciprocal, onnx_op_Floor, onnx_op_Ceil, onnx_op_Erf;
extern const struct onnx_op onnx_op_LeakyRelu, onnx_op_Elu, onnx_op_Selu, onnx_op_HardSigmoid;
extern const struct onnx_op onnx_op_Softplus, onnx_op_Clip, onnx_op_Pow;
extern const struct onnx_op onnx_op_Min, onnx_op_Max, onnx_op_Sum, onnx_op_Mean;
extern const struct onnx_op onnx_op_Equal, onnx_op_Less, onnx_op_Greater, onnx_op_Not;
extern const struct onnx_op onnx_op_And, onnx_op_Or, onnx_op_Where;
extern const struct onnx_op onnx_op_ReduceSum, onnx_op_ReduceMean, onnx_op_ReduceMax;
extern const struct onnx_op onnx_op_ReduceMin, onnx_op_ArgMax, onnx_op_ArgMin;
extern const struct onnx_op onnx_op_LogSoftmax, onnx_op_BatchNormalization;
extern const struct onnx_op onnx_op_LayerNormalization;
/* h11 end */

static const struct onnx_op *const ops[] = {
    /* elementwise.c */
    &onnx_op_Add, &onnx_op_Sub, &onnx_op_Mul, &onnx_op_Div,
    /* matmul.c */
    &onnx_op_MatMul, &onnx_op_Gemm,
    /* activation.c */
    &onnx_op_Relu, &onnx_op_Sigmoid, &onnx_op_Tanh,
    /* softmax.c */
    &onnx_op_Softmax,
    /* shape.c */
    &onnx_op_Identity, &onnx_op_Dropout, &onnx_op_Reshape, &onnx_op_Flatten,
    /* constant.c */
    &onnx_op_Constant,
    /* cast.c */
    &onnx_op_Cast,
    /* h12: squeeze.c */
    &onnx_op_Squeeze, &onnx_op_Unsqueeze,
    /* h12: strided.c */
    &onnx_op_Transpose, &onnx_op_Slice,
    /* h12: concat.c */
    &onnx_op_Concat, &onnx_op_Split,
    /* h12: gather.c */
    &onnx_op_Gather,
    /* h12: shape_of.c */
    &onnx_op_Shape, &onnx_op_ConstantOfShape,
    /* h12: expand.c */
    &onnx_op_Expand, &onnx_op_Tile,
    /* h12: topk.c */
    &onnx_op_TopK,
    /* h12 end */
    /* h13: ai.onnx.ml */
    &onnx_op_TreeEnsembleClassifier, &onnx_op_TreeEnsembleRegressor, &onnx_op_LinearClassifier,
    &onnx_op_LinearRegressor, &onnx_op_Scaler, &onnx_op_Normalizer, &onnx_op_Binarizer,
    &onnx_op_Imputer, &onnx_op_ArrayFeatureExtractor, &onnx_op_OneHotEncoder, &onnx_op_ZipMap,
    &onnx_op_LabelEncoder,
    /* h13 end */
    /* h15: ml_svm.c */
    &onnx_op_SVMClassifier, &onnx_op_SVMRegressor,
    /* h15 end */
    /* h11: unary.c */
    &onnx_op_Sqrt, &onnx_op_Exp, &onnx_op_Log, &onnx_op_Abs, &onnx_op_Neg, &onnx_op_Reciprocal,
    &onnx_op_Floor, &onnx_op_Ceil, &onnx_op_Erf, &onnx_op_LeakyRelu, &onnx_op_Elu, &onnx_op_Selu,
    &onnx_op_HardSigmoid, &onnx_op_Softplus, &onnx_op_Clip,
    /* h11: pow.c */
    &onnx_op_Pow,
    /* h11: variadic.c */
    &onnx_op_Min, &onnx_op_Max, &onnx_op_Sum, &onnx_op_Mean,
    /* h11: logical.c */
    &onnx_op_Equal, &onnx_op_Less, &onnx_op_Greater, &onnx_op_Not, &onnx_op_And, &onnx_op_Or,
    &onnx_op_Where,
    /* h11: reduce.c */
    &onnx_op_ReduceSum, &onnx_op_ReduceMean, &onnx_op_ReduceMax, &onnx_op_ReduceMin,
    &onnx_op_ArgMax, &onnx_op_ArgMin,
    /* h11: logsoftmax.c */
    &onnx_op_LogSoftmax,
    /* h11: norm.c */
    &onnx_op_BatchNormalization, &onnx_op_LayerNormalization,
    /* h11 end */
};

const struct onnx_op *onnx_op_find(const char *domain, const char *op_type, int opset)
{
    if (strcmp(domain, "ai.onnx") == 0)
        domain = "";
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i]->op_type, op_type) == 0 && strcmp(ops[i]->domain, domain) == 0 &&
            opset >= ops[i]->since_min && opset <= ops[i]->since_max)
            return ops[i];
    return NULL;
}

int onnx_op_known(const char *domain, const char *op_type)
{
    if (strcmp(domain, "ai.onnx") == 0)
        domain = "";
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i]->op_type, op_type) == 0 && strcmp(ops[i]->domain, domain) == 0)
            return 1;
    return 0;
}
