"""lms-progress: a learner-progress service, wire-compatible with Zoho People's LMS API."""

__version__ = "0.1.0"
