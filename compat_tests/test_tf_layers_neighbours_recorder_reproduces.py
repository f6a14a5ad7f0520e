"""The committed goldens of tf.layers' neighbours are what TF 1.15.5 records today."""

import recordings

(fresh, test_same_cases, test_records_reproduce, test_arrays_reproduce,
 test_checkpoints_reproduce) = recordings.corpus_tests(
     'tf_layers_neighbours', 'record_tf_layers_neighbours.py',
     env_var='CONTRIB_BN_FRESH_TF_LAYERS_NEIGHBOURS', minimum_cases=45)
