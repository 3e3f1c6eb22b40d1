
Ê
root.layer-0"_tf_keras_layer*¢{"class_name": "Dense", "name": "dense", "trainable": true, "dtype": "float32", "config": {"name": "dense", "units": 2, "activation": "linear", "use_bias": true}}
ê
root.layer-1"_tf_keras_layer*Â{"class_name": "Lambda", "name": "lambda", "trainable": true, "dtype": "float32", "config": {"name": "lambda", "function": ["4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAA==", null, null], "function_type": "lambda", "module": "__main__", "output_shape": null, "output_shape_type": "raw", "output_shape_module": null, "arguments": {}}}