
Ê
root.layer-0"_tf_keras_layer*¢{"class_name": "Dense", "name": "dense", "trainable": true, "dtype": "float32", "config": {"name": "dense", "units": 2, "activation": "linear", "use_bias": true