-- Rasa keeps its tracker store in its own database beside the service's.
CREATE DATABASE rasa OWNER hpf;
