"""PDK configurations, one YAML file per PDK (data; read by ``econflow.pdk``)."""
