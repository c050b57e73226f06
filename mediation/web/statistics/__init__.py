"""Public statistics: releases, charts, open data and the methodology."""
