"""The committed tf.layers goldens are what TF 1.15.5 records today."""

import recordings

(fresh, test_same_cases, test_records_reproduce, test_arrays_reproduce,
 test_checkpoints_reproduce) = recordings.corpus_tests(
     'tf_layers', 'record_tf_layers.py',
     env_var='CONTRIB_BN_FRESH_TF_LAYERS', minimum_cases=50)
