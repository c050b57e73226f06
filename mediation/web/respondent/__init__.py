"""The respondent area of the web interface."""
