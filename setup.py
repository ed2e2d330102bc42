from setuptools import find_packages, setup

with open('README.md', encoding='utf-8') as readme:
    long_description = readme.read()

setup(
    name='remotetask',
    version='0.1.0.dev0',
    description='A server that runs pre-defined tasks for other servers, '
                'over XML-RPC',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='ZPL-2.1',
    python_requires='>=3.11',
    packages=find_packages(include=['remotetask', 'remotetask.*'])
    + ['twisted.plugins'],
    package_data={'remotetask.store': ['*.sql'],
                  'remotetask.web': ['static/*'],
                  'twisted.plugins': ['remotetask_plugin.py']},
    install_requires=[
        # The reactor, XML-RPC over HTTP, twistd, endpoints, cred, logger.
        'twisted>=24.3',
        # Interfaces, as in the Zope code this API descends from.
        'zope.interface>=6',
        # Parsing crontab strings for addCronJob(crontab=...).
        'cronsim>=2.8,<3',
        # /metrics in the Prometheus text format.
        'prometheus_client>=0.17',
    ],
    extras_require={
        # Legacy hosts registering tasks as zope.component utilities.
        'zope': ['zope.component'],
        'postgresql': ['psycopg[binary]>=3.1'],
        # --listen ssl:... (pyOpenSSL, service_identity).
        'tls': ['twisted[tls]>=24.3'],
        'test': [
            'pytest',
            'pytest-twisted',
            'hypothesis',
            'zope.component',
            'psycopg[binary]>=3.1',
            'twisted[tls]>=24.3',
            # Browser tests drive Debian's chromium with its chromedriver.
            'selenium>=4.11',
        ],
    },
    entry_points={
        # The one `remotetask` command (no scripts=: pip would write the
        # same file twice).
        'console_scripts': ['remotetask = remotetask.cli:main'],
        # Enabled only by --examples; remotetask.tasks stays empty here.
        'remotetask.examples': [
            'echo = remotetask.core.examples:echo',
            'sleep = remotetask.core.examples:sleep',
        ],
    },
    classifiers=[
        'Framework :: Twisted',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.11',
    ],
)
