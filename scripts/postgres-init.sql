-- The warehouse database beside Airflow's metadata database (docker-compose's postgres service).
create database customer360;
