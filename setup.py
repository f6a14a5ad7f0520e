"""contrib-bn: TF 1.15's tf.contrib.layers.batch_norm on TensorFlow 2.x."""

import os

import setuptools

_HERE = os.path.dirname(os.path.abspath(__file__))


def _package_data():
  """Every file of the golden corpus, relative to the package."""
  package = os.path.join(_HERE, 'contrib_bn')
  files = []
  for root, _, names in os.walk(os.path.join(package, 'goldens')):
    for name in names:
      files.append(os.path.relpath(os.path.join(root, name), package))
  return sorted(files)


with open(os.path.join(_HERE, 'README.md')) as f:
  _LONG_DESCRIPTION = f.read()

setuptools.setup(
    name='contrib-bn',
    version='0.1.0',
    description=("TF 1.15's tf.contrib.layers.batch_norm on TensorFlow 2.x "
                 'graph mode: same arguments, variables, numerics, errors.'),
    long_description=_LONG_DESCRIPTION,
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=setuptools.find_packages(include=['contrib_bn', 'contrib_bn.*']),
    package_data={'contrib_bn': _package_data()},
    install_requires=['tensorflow>=2.16', 'numpy'],
    extras_require={
        'test': ['pytest', 'hypothesis', 'absl-py', 'tf-slim==1.1.0',
                 'matplotlib'],
        'bench': ['absl-py', 'matplotlib'],
        'docs': ['mkdocs'],
    },
    entry_points={'console_scripts': ['contrib-bn=contrib_bn.cli:main']},
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
