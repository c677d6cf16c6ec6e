//! The app as the host of its services: for the learning loop, the serving
//! model, the halt switch, the learning part of `settings.json` and the
//! reload after a new adapter serves; for the agent, the serving model, the
//! halt switch and memory. And the services' errors as the app's own.

use crate::{App, AppError, Inner};
use futures::future::BoxFuture;
use pincer_agent::AgentError;
use pincer_inference::Engine;
use pincer_learning::{HostError, LearningError, LearningSettings};
use pincer_memory::Memory;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Inner {
    fn serving_engine(&self) -> Option<Arc<Engine>> {
        self.engine
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn is_halted(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
    }
}

impl pincer_agent::Host for Inner {
    fn serving_engine(&self) -> Option<Arc<Engine>> {
        Inner::serving_engine(self)
    }

    fn is_halted(&self) -> bool {
        Inner::is_halted(self)
    }

    fn memory(&self) -> Option<Arc<Memory>> {
        self.memory.current()
    }
}

impl pincer_learning::Host for Inner {
    fn serving_engine(&self) -> Option<Arc<Engine>> {
        Inner::serving_engine(self)
    }

    fn is_halted(&self) -> bool {
        Inner::is_halted(self)
    }

    fn learning_settings(&self) -> LearningSettings {
        self.settings.get().learning
    }

    fn update_learning_settings(
        &self,
        change: Box<dyn FnOnce(&mut LearningSettings) + Send>,
    ) -> Result<(), HostError> {
        self.settings
            .update(|settings| change(&mut settings.learning))
            .map(|_| ())
            .map_err(|error| Box::new(error) as HostError)
    }

    fn reload_serving_engine(self: Arc<Self>) -> BoxFuture<'static, Result<(), HostError>> {
        Box::pin(async move {
            let app = App { inner: self };
            let Some(engine) = app.engine() else {
                return Ok(());
            };
            app.load_engine(engine.source().clone(), Some(engine.id().to_string()))
                .await
                .map(|_| ())
                .map_err(|error| Box::new(error) as HostError)
        })
    }
}

impl From<LearningError> for AppError {
    fn from(error: LearningError) -> Self {
        match error {
            LearningError::Store(error) => Self::Store(error),
            LearningError::Trust(error) => Self::from(error),
            LearningError::Inference(error) => Self::Inference(error),
            LearningError::NoModel => Self::NoModel,
            LearningError::Halted => Self::Halted,
            LearningError::InvalidInput(text) => Self::InvalidInput(text),
            LearningError::Unavailable(text) => Self::Unavailable(text),
            LearningError::Io { context, source } => Self::Io { context, source },
            LearningError::Training(text) => Self::Training(text),
            // The app's own error, given back as it was raised.
            LearningError::Host(error) => match error.downcast::<AppError>() {
                Ok(error) => *error,
                Err(error) => Self::Unavailable(error.to_string()),
            },
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<AgentError> for AppError {
    fn from(error: AgentError) -> Self {
        match error {
            AgentError::Store(error) => Self::Store(error),
            AgentError::Trust(error) => Self::from(error),
            AgentError::Inference(error) => Self::Inference(error),
            AgentError::NoModel => Self::NoModel,
            AgentError::Halted => Self::Halted,
            AgentError::InvalidInput(text) => Self::InvalidInput(text),
            AgentError::NotSaved(text) => Self::NotSaved(text),
            AgentError::Memory(error) => Self::from(error),
            other => Self::Unavailable(other.to_string()),
        }
    }
}
